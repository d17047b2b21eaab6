"""Build, sign and publish the authorization policy bundle that the cells' agents run.

The steps are in separate modules: `build` checks, tests and compiles `policies/authz`
into a signed WebAssembly bundle, `publish` uploads it to the bundle repository, `keys`
and `tokens` create the key pairs and caller tokens that the local region needs, and
`builtins` decides which Rego built-in functions a bundle may call. `python -m wasm`
runs each step from the command line.
"""
