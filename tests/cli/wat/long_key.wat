;; Asks the host's config_get for a key the host cannot take: one outside the guest's memory (a
;; trap: the guest's fault, not the user's), and one longer than any key (CORDON_ERR_INVALID, -3,
;; as every backend answers it).
(module
  (import "cordon" "config_get" (func $config_get (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "ask") (result i32) (call $config_get (i32.const 65000) (i32.const 1000) (i32.const 0) (i32.const 0)))
  (func (export "long") (result i32) (call $config_get (i32.const 0) (i32.const 5000) (i32.const 0) (i32.const 0))))
