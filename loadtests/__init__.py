"""Load tests and benchmarks of the progress LRS (see loadtests/README.md)."""
