(module
  (import "app" "mix" (func $mix (param i32 i64) (result i64)))
  (import "app" "ui_beep" (func $beep (result i32)))
  (func (export "use_mix") (param i32) (result i64) local.get 0 i64.const 10 call $mix)
  (func (export "use_beep") (result i32) call $beep))
