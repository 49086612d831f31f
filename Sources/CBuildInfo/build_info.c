// Only this file sees the commit: a new commit recompiles one C file and relinks, nothing else.
#include "CBuildInfo.h"

#ifndef MPTCP_RELAY_COMMIT
#define MPTCP_RELAY_COMMIT ""
#endif

const char *mptcp_relay_build_commit(void) { return MPTCP_RELAY_COMMIT; }
