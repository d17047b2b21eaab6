"""The cloud-neutral view of resources that every rule of the pack reads (I12)."""
