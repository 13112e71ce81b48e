/* The debugger of a run (gdb.c): what run.c asks of it. */
#ifndef ENTRYEMU_RUN_GDB_H
#define ENTRYEMU_RUN_GDB_H

#include "kernel/kernel.h"

/* Wait for gdb if a session is open on m; -1 if it never came. */
int gdb_run_start(struct entryemu *m);
/* The code hook a debugged run needs on every instruction. */
engine_code_fn gdb_hook_fn(void);
/* Tell gdb how the run ended and close the session. */
void gdb_run_end(struct entryemu *m, const entryemu_result *r);
/* Close a session no run used. */
void gdb_close(struct entryemu *m);

#endif
