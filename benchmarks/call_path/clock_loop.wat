;; A guest loop reading the clock through the cordon host API (permission "clock") once per
;; iteration; the call-path benchmark subtracts host_loop.wat's loop_n to get one call's cost.
(module
  (import "cordon" "clock_now" (func $clock_now (param i32) (result i64)))
  (func (export "clock_n") (param $n i32) (result i64) (local $acc i64)
    (block (loop
      (br_if 1 (i32.eqz (local.get $n)))
      (local.set $acc (i64.add (local.get $acc) (call $clock_now (i32.const 1))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br 0)))
    local.get $acc))
