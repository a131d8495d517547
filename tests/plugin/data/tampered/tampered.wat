;; tampered: the committed .wasm was changed after its manifest recorded the digest.
(module
  (func (export "run") (result i32) (i32.const 7)))
