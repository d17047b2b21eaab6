"""Authorization overhead at the edge: one cell's Envoy sidecar and service, four ways.

(a) no authorization, (b) the project's policy agent evaluating the bundle's WebAssembly
module, (c) stock OPA with its Envoy plugin evaluating the same policy as Rego, and (d) the
project's agent behind a TCP delay line that adds a fixed round-trip delay, the remote
decision point that the architecture rejects.
"""
