;; A plugin whose only function always traps, for hosts that disable failing plugins.
(module
  (func (export "run") (result i32) unreachable))
