#!/usr/bin/python3
"""The Prometheus project's own Python client (Debian python3-prometheus-client) parses `ideo serve`'s /metrics.

usage: prometheus_client_parse.py URL
Prints one JSON array of [name, labels, value] samples; exits non-zero when the exposition does not parse.
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

with urllib.request.urlopen(sys.argv[1]) as r:
    text = r.read().decode("utf-8")
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps(samples))
