(module (memory 60000) (func (export "f")))
