;; The example application plugin: depends on greeter and log.
(module
  (func (export "main") (result i32) (i32.const 42)))
