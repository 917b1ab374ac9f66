also { not hcl
