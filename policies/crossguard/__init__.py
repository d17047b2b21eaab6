"""CrossGuard policy pack that checks the architecture's invariants I1 to I11 on every cloud.

`pack.policies()` returns the policy objects. Only `__main__.py`, the entry point that
`pulumi preview --policy-pack policies/crossguard` runs, constructs the `PolicyPack`,
because its constructor starts serving the engine and never returns. `offline.run` applies the same
policies to a recording of the offline preview.
"""
