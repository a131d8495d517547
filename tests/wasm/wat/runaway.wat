(module
  ;; Mutual recursion through a table until the interpreter's call stack is full, with and
  ;; without a result (the spec suite's call_indirect `runaway`, and a variant returning i32).
  (type $void (func))
  (type $int (func (result i32)))
  (table funcref (elem $a $b $ai $bi))
  (func $a (type $void) (call_indirect (type $void) (i32.const 1)))
  (func $b (type $void) (call_indirect (type $void) (i32.const 0)))
  (func $ai (type $int) (call_indirect (type $int) (i32.const 3)))
  (func $bi (type $int) (call_indirect (type $int) (i32.const 2)))
  (func (export "shallow") (result i32) (i32.const 7))
  (export "runaway" (func $a))
  (export "runaway_i32" (func $ai)))
