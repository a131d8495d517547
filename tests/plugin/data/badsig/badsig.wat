;; badsig: signed, then its manifest was edited to ask for more permissions.
(module
  (func (export "run") (result i32) (i32.const 9)))
