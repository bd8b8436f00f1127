/*
 * What one client of the node agent may take: the clients (agent_clients.c)
 * and the rate (agent_rate.c) enforce them, `sklookup-ctl agent --help`
 * (ctl_agent.c) states them. A header of its own, below every part.
 */
#ifndef SKL_AGENT_LIMITS_H
#define SKL_AGENT_LIMITS_H

#define SKL_AGENT_MAX_CLIENTS 64 /* connections at once */
#define SKL_AGENT_MAX_PER_PEER 4 /* of them from one client */
#define SKL_AGENT_DEADLINE_S 5   /* for a connection's whole request */
#define SKL_AGENT_DEADLINE_MS (SKL_AGENT_DEADLINE_S * 1000)
#define SKL_AGENT_RATE_BURST 20  /* requests per pod at once, */
#define SKL_AGENT_RATE_PER_S 10  /* then this many a second */

#endif
