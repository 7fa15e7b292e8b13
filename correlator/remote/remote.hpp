#pragma once
// Points on other hosts, reached with the system `ssh` client (docs/remote.md). This header
// gathers the three parts of pt_remote for its callers (pipeline/live, pipeline/explainer,
// neutron/discover):
//   ssh.hpp        quoting, ssh argv, the agent and agentless remote commands (pure)
//   preflight.hpp  pre-flight: one ssh per host checks every point before anything captures
//   agentless.hpp  RemoteStream: the agent's stderr relay and the agentless tcpdump pump
// The agentless pcap stream is parsed by collector/pcapfile/stream.hpp, the file Reader's
// decoder.

#include "correlator/remote/agentless.hpp"
#include "correlator/remote/preflight.hpp"
#include "correlator/remote/ssh.hpp"
