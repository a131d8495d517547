(module (import "cordon" "launch_missiles" (func (param i32))) (func (export "f")))
