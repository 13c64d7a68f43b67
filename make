./tests/test_install.sh: line 119: 11: Bad file descriptor
