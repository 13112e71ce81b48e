/*
 * The library's state written into QEMU: its memory (only the bytes
 * that differ), its registers, and after a callout what the callout
 * changed, including what only guest code can load (the stub's
 * oracle_service: LDTR, SYSENTER_CS, the end of an IRQ).
 */
#define _GNU_SOURCE 1
#include "oracle/oracle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- giving QEMU the library's state --------------------------------------- */

/* Memory: every byte that differs, written through the gdbstub (which
 * also drops QEMU's translations of code it overwrites). */
int oracle_push_memory(entryemu_oracle *o)
{
	for (unsigned i = 0; i < o->nreg; i++) {
		const uint8_t *want = o->reg[i].host;
		uint8_t *have = o->q.mem + o->reg[i].phys;
		uint32_t n = o->reg[i].size, a = 0;
		while (a < n) {
			if (want[a] == have[a]) {
				a++;
				continue;
			}
			uint32_t b = a;
			while (b < n && (want[b] != have[b] || (b - a < 64 && b + 1 < n)))
				b++;
			if (gw_write_mem(&o->q.gw, o->reg[i].phys + a, want + a, b - a))
				return -1;
			a = b;
		}
	}
	return 0;
}

void oracle_lib_regs(entryemu_oracle *o, uint32_t *r)
{
	struct entryemu_regs x;
	machine_read_regs(o->m, &x);
	uint32_t v[GW_NREGS_CORE] = { x.eax, x.ecx, x.edx, x.ebx, x.esp, x.ebp, x.esi, x.edi,
				      x.eip, x.eflags, x.cs, x.ss, x.ds, x.es, x.fs, x.gs };
	memcpy(r, v, sizeof(v));
	if (o->lib_eip_set)
		r[GW_EIP] = o->lib_eip;
}

/*
 * Registers: EFLAGS first (VM decides how a selector loads), then the
 * selectors (the gdbstub loads each descriptor from the GDT; SS's DPL
 * becomes CPL, as QEMU keeps it), then the rest.
 */
int oracle_push_regs(entryemu_oracle *o, int at_start)
{
	uint32_t r[GW_NREGS_CORE];
	oracle_lib_regs(o, r);
	if (at_start)
		r[GW_EIP] = o->m->start;	/* the engine starts there, whatever EIP says */
	static const int order[] = { GW_EFLAGS, GW_CS, GW_SS, GW_DS, GW_ES, GW_FS, GW_GS,
				     GW_EAX, GW_ECX, GW_EDX, GW_EBX, GW_ESP, GW_EBP, GW_ESI,
				     GW_EDI, GW_EIP };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (oracle_set_reg(o, order[i], r[order[i]]))
			return -1;
	uint32_t cr0 = machine_reg(o->m, ER_CR0) | 0x80000000u;	/* and paging */
	return oracle_set_reg(o, GW_CR0, cr0);
}

void oracle_resync(entryemu_oracle *o)
{
	if (!o->broken && (oracle_push_memory(o) || oracle_push_regs(o, 0)))
		oracle_broken(o, "cannot give QEMU the library's state");
}

void oracle_snapshot(entryemu_oracle *o)
{
	size_t off = 0;
	for (unsigned i = 0; i < o->nreg; i++) {
		memcpy(o->snap + off, o->reg[i].host, o->reg[i].size);
		off += o->reg[i].size;
	}
	o->snap_cr0 = machine_reg(o->m, ER_CR0);
	struct engine_table_reg t;
	o->snap_ldtr = engine_table(o->m->eng, ET_LDTR, &t) ? 0 : t.selector;
	o->snap_sysenter_cs = 0;
	engine_msr(o->m->eng, 0x174, &o->snap_sysenter_cs);
}

/* LDTR and SYSENTER_CS as the library now has them, loaded by the stub
 * (and, eoi set, the IRQ in service ended). */
int oracle_run_service(entryemu_oracle *o, uint16_t ldtr, uint32_t sysenter_cs, uint32_t eoi)
{
	uint32_t saved[GW_NREGS_CORE];
	char reply[256];
	if (gw_read_core(&o->q.gw, saved) ||
	    gw_write_mem(&o->q.gw, PH_BOOT_BLOCK + BB_LDTR, &ldtr, 2) ||
	    gw_write_mem(&o->q.gw, PH_BOOT_BLOCK + BB_MSR174, &sysenter_cs, 4) ||
	    gw_write_mem(&o->q.gw, PH_BOOT_BLOCK + BB_EOI, &eoi, 4) ||
	    oracle_set_reg(o, GW_EIP, o->sym_service) ||
	    gw_break(&o->q.gw, o->sym_service_done, 1))
		return -1;
	int rc = gw_resume(&o->q.gw, "c", RESUME_MS, reply, sizeof(reply));
	uint32_t eip = 0;
	if (gw_break(&o->q.gw, o->sym_service_done, 0) || rc ||
	    gw_read_reg(&o->q.gw, GW_EIP, &eip) || eip != o->sym_service_done) {
		snprintf(o->q.gw.err, sizeof(o->q.gw.err), "the stub's service routine faulted "
			 "(LDTR 0x%04x, SYSENTER_CS 0x%x)", ldtr, sysenter_cs);
		return -1;
	}
	static const int gprs[] = { GW_EAX, GW_ECX, GW_EDX, GW_EIP, GW_EFLAGS };
	for (size_t i = 0; i < sizeof(gprs) / sizeof(gprs[0]); i++)
		if (oracle_set_reg(o, gprs[i], saved[gprs[i]]))
			return -1;
	return 0;
}

/* What the callout changed in memory, written into QEMU too. */
int oracle_apply_callout(entryemu_oracle *o, uint32_t ret)
{
	size_t off = 0;
	for (unsigned i = 0; i < o->nreg; i++) {
		const uint8_t *now = o->reg[i].host, *then = o->snap + off;
		for (uint32_t a = 0; a < o->reg[i].size;) {
			if (now[a] == then[a]) {
				a++;
				continue;
			}
			uint32_t b = a;
			while (b < o->reg[i].size && now[b] != then[b])
				b++;
			if (gw_write_mem(&o->q.gw, o->reg[i].phys + a, now + a, b - a))
				return -1;
			a = b;
		}
		off += o->reg[i].size;
	}
	/* %eax = the return value; compiled C leaves %ecx/%edx clobbered */
	uint32_t clobber = 0xdeadbeefu;
	if (oracle_set_reg(o, GW_EAX, ret))
		return -1;
	if (!(o->m->setup->flags & ENTRYEMU_RUN_NO_CLOBBER) &&
	    (oracle_set_reg(o, GW_ECX, clobber) || oracle_set_reg(o, GW_EDX, clobber)))
		return -1;
	uint32_t cr0 = machine_reg(o->m, ER_CR0);
	if (cr0 != o->snap_cr0 && oracle_set_reg(o, GW_CR0, cr0 | 0x80000000u))
		return -1;
	struct engine_table_reg t;
	uint64_t cs = 0;
	uint16_t ldtr = engine_table(o->m->eng, ET_LDTR, &t) ? 0 : t.selector;
	engine_msr(o->m->eng, 0x174, &cs);
	if ((ldtr != o->snap_ldtr || cs != o->snap_sysenter_cs) &&
	    oracle_run_service(o, ldtr, (uint32_t)cs, 0))
		return -1;
	return 0;
}
