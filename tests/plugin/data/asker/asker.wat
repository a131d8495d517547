;; asker 1.0.0: asks counter over the plugin bus (permission plugin) and answers what came back.
;; ask() calls counter/next, which counter offers to asker; tamper() calls counter/reset, which
;; it does not: a violation, after which the plugin answers "refused".
(module
  (import "cordon" "bus_call" (func $bus_call (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "cordon" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "counter/next")
  (data (i32.const 16) "counter/reset")
  (data (i32.const 32) "refused")
  (func $ask (param $target i32) (param $length i32) (result i32) (local $got i32)
    (local.set $got
      (call $bus_call (local.get $target) (local.get $length) (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 64)))
    (if (i32.lt_s (local.get $got) (i32.const 0))
      (then (drop (call $output_write (i32.const 32) (i32.const 7))) (return (i32.const 0))))
    (drop (call $output_write (i32.const 64) (local.get $got)))
    (i32.const 0))
  (func (export "ask") (result i32) (call $ask (i32.const 0) (i32.const 12)))
  (func (export "tamper") (result i32) (call $ask (i32.const 16) (i32.const 13))))
