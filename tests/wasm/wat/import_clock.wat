(module
  (import "cordon" "clock_now" (func $clock (param i32) (result i64)))
  (func (export "now") (result i64) i32.const 1 call $clock))
