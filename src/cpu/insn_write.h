/* Which memory operand an instruction writes (insn_write.c). */
#ifndef ENTRYEMU_CPU_INSN_WRITE_H
#define ENTRYEMU_CPU_INSN_WRITE_H

#include <capstone/capstone.h>

/* Does insn (decoded with detail) write its operand k, a memory operand?
 * 0 for one it only reads, and for any other operand. */
int insn_writes_operand(const cs_insn *insn, int k);

#endif
