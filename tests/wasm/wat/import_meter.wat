(module (import "cordon_meter" "fuel" (global (mut i64))) (func (export "f")))
