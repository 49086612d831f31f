// The commit the binary was built from, baked in at build time (see Package.swift, MPTCP_RELAY_COMMIT).
#ifndef C_BUILD_INFO_H
#define C_BUILD_INFO_H

// The git commit given in MPTCP_RELAY_COMMIT when the package was built, or "" when none was given.
const char *mptcp_relay_build_commit(void);

#endif
