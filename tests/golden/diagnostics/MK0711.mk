# mkc: profiles list --db {file}
# This text file given as the profile store is not a SQLite database: mkc says so, names
# the path and writes nothing to it.
