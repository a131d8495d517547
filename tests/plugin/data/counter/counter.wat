;; counter 1.0.0: a service on the plugin bus. next() answers the next count as one decimal
;; digit; reset() is the host's alone (plugin.json offers only next() to asker).
(module
  (import "cordon" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (func (export "next") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.store8 (i32.const 0) (i32.add (i32.const 48) (i32.rem_u (global.get $count) (i32.const 10))))
    (drop (call $output_write (i32.const 0) (i32.const 1)))
    (i32.const 0))
  (func (export "reset") (result i32)
    (global.set $count (i32.const 0))
    (i32.const 0)))
