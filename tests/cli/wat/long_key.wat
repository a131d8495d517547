;; Asks the host's config_get for a key longer than the host takes: the guest's bad request.
(module
  (import "cordon" "config_get" (func $config_get (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "ask") (result i32) (call $config_get (i32.const 0) (i32.const 5000) (i32.const 0) (i32.const 0))))
