(module (table 10000000 funcref) (func (export "f")))
