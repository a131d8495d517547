(module (func $spin_at_start loop br 0 end) (start $spin_at_start) (func (export "f")))
