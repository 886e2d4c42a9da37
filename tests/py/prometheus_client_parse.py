#!/usr/bin/python3
"""The Prometheus project's own Python client (Debian python3-prometheus-client) parses `ideo serve`'s /metrics.

usage: prometheus_client_parse.py URL [TOKEN]
TOKEN (an admin API key or the server's IDEO_METRICS_TOKEN) is sent as Authorization: Bearer, as Prometheus's
scrape config sends its bearer token: /metrics answers 401 without one.
Prints one JSON array of [name, labels, value] samples; exits non-zero when the exposition does not parse.
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

request = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    request.add_header("Authorization", "Bearer " + sys.argv[2])
with urllib.request.urlopen(request) as r:
    text = r.read().decode("utf-8")
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps(samples))
