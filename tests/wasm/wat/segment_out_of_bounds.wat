;; Instantiation traps in its last step: the memory and the table exist, the data segment does not fit.
(module
  (memory 1)
  (table 4 funcref)
  (func $f)
  (elem (i32.const 0) $f)
  (data (i32.const 65535) "too long")
  (func (export "f")))
