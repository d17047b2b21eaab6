"""The Kubernetes layer of a cell, written once for every cloud and cluster."""
