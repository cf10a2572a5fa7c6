"""Hardware side of frd_q: the board catalogue, the FINN flow as named steps, and the graph passes FINN lacks.

Nothing here touches the environment at import time; FINN's global settings are set only inside
`hw.finn_env.finn_session(...)`, which the flow opens around its steps.
"""
