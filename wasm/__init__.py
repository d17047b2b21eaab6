"""Build, sign and publish the authorization policy bundle that the cells' agents run.

Each step has its own module. `build` checks, tests and compiles `policies/authz` into
a signed WebAssembly bundle, and `publish` uploads it to the bundle repository. `keys`
and `tokens` create the key pairs and caller tokens that the local region needs.
`builtins` decides which Rego built-in functions a bundle may call. `python -m wasm`
runs each step from the command line.
"""
