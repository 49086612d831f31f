print("mptcp-relay")
