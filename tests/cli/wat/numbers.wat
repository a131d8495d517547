;; Exports of every type the command line passes, and one it cannot (v128).
(module
  (func (export "neg_f64") (param f64) (result f64) local.get 0 f64.neg)
  (func (export "neg_f32") (param f32) (result f32) local.get 0 f32.neg)
  (func (export "add_i32") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add_i64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "lanes") (param v128) (result i32) local.get 0 i32x4.extract_lane 0))
