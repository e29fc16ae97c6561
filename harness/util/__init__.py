"""Envoy-style utility functions in pure Python, with Envoy's edge cases.

``strings`` (StringUtil), ``base64`` (Base64/Base64Url), ``http`` (Http::Utility),
``path`` (PathUtil), ``header_map`` (an Envoy-like request header map) and ``fuzz`` (the run
functions of the string_utility, base64, http_utility, path_utility and header_map targets).
Nothing is imported here, so importing one module stays cheap.
"""
