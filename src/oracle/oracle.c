/*
 * The lockstep.  QEMU holds the same memory and registers as the run
 * when it starts; then, at each point the run's stream reports, QEMU
 * runs on to its own next stop and the two must agree:
 *
 *   DELIVERED    QEMU stops at the handler (a breakpoint on every gate's
 *                target) or at the sysenter target: vector, the pushed
 *                frame word by word, then every register and all memory
 *   CALL_BEFORE  QEMU stops at the same callout slot: registers, memory
 *   CALL_AFTER   the callout ran once, on the library's machine, whose
 *                state was just found equal to QEMU's; what it changed
 *                (memory, %eax/%ecx/%edx, CR0) is written into QEMU, so
 *                the same C function serves both
 *   RETURN       QEMU steps each iret/sysexit of the image; landing at
 *                CPL 3 is a return: registers, memory
 *   the end      a run that finished: QEMU reaches the exit page
 *
 * After a divergence QEMU is given the library's state again, so that
 * each later point is still compared on equal footing, and every
 * divergence is reported.  Injected IRQs and NMIs are raised in QEMU
 * by an MSI write to the local APIC while QEMU is stopped at the
 * injection point, so QEMU's own interrupt logic delivers them; an
 * injected exception cannot be raised in QEMU and is taken over from
 * the library (said in entryemu_oracle_uncompared()).
 */
#define _GNU_SOURCE 1
#include "oracle/oracle.h"
#include "cpu/paging.h"

#include <gelf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the run's stream -------------------------------------------------------- */

static void point(entryemu_oracle *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void point(entryemu_oracle *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->where, sizeof(o->where), fmt, ap);
	va_end(ap);
}

/* QEMU stopped at a handler whose frame says it interrupted the sysenter target. */
static int sysenter_then_event(entryemu_oracle *o, const struct qstop *st)
{
	uint32_t ph = layout_phys(o->reg, o->nreg, st->r[GW_ESP]);
	uint32_t eip = 0, cs = 0;
	if (!ph || !o->sysenter)
		return 0;
	memcpy(&eip, o->q.mem + ph, 4);
	memcpy(&cs, o->q.mem + ph + 4, 4);
	return eip == o->sysenter && (cs & 0xffff) == ENTRYEMU_KERNEL_CS;
}

static void observe(void *ctx, const struct run_event *ev)
{
	entryemu_oracle *o = ctx;
	if (o->broken)
		return;
	struct qstop st;
	char s[160];
	switch (ev->kind) {
	case RUN_EV_DELIVERED: {
		const struct entryemu_event_record *e = &ev->u.delivered.rec;
		o->nev++;
		if (e->vector == ENTRYEMU_EVENT_SYSENTER)
			point(o, "event %u (sysenter at %s)", o->nev, oracle_sym(o, e->eip, s, sizeof(s)));
		else
			point(o, "event %u (vector %d at %s)", o->nev, e->vector,
			      oracle_sym(o, e->eip, s, sizeof(s)));
		oracle_run_to_stop(o, &st);
		if (st.kind == ST_INJECT_EXC) {
			/*
			 * QEMU waits at the injection point.  It cannot raise the
			 * exception itself, so the delivery is taken from the
			 * library; what can be checked is that both stand at the
			 * same boundary: the library's pushed EIP, CS and EFLAGS
			 * are QEMU's registers there.
			 */
			oracle_compare_boundary(o, e, &st);
			oracle_uncompared(o, "%s: an injected exception; QEMU cannot raise one on demand, "
				   "so its delivery was taken from the library", o->where);
			oracle_resync(o);
			return;
		}
		enum stop_kind want = e->vector == ENTRYEMU_EVENT_SYSENTER ? ST_SYSENTER : ST_HANDLER;
		if (want == ST_SYSENTER && st.kind == ST_HANDLER && sysenter_then_event(o, &st)) {
			/*
			 * A trap (TF's #DB) or an NMI at the sysenter target, before
			 * its first instruction: QEMU has no stop between the two.
			 * The sysenter is compared through that event's frame.
			 */
			o->pending = st;
			o->has_pending = 1;
			return;
		}
		if (st.kind != want) {
			char x[192];
			snprintf(x, sizeof(x), "%s at %s", oracle_stop_name(want),
				 oracle_sym(o, e->handler, s, sizeof(s)));
			oracle_wrong_stop(o, x, &st);
			oracle_resync(o);
			return;
		}
		size_t before = o->ndiv_total;
		uint32_t lo, hi;
		oracle_compare_event(o, e, &st, &lo, &hi);
		oracle_cross_check_log(o, e);
		oracle_compare_state(o, &st, e->handler, 0, lo, hi, 0);
		if (o->ndiv_total != before)
			oracle_resync(o);
		if (e->vector >= 0x20 && e->vector < 0x30 && !e->software && !o->broken) {
			/* an injected IRQ: end it in QEMU's local APIC, or it blocks the next */
			struct engine_table_reg t;
			uint64_t cs = 0;
			engine_msr(o->m->eng, 0x174, &cs);
			if (oracle_run_service(o, engine_table(o->m->eng, ET_LDTR, &t) ? 0 : t.selector,
					(uint32_t)cs, 1))
				oracle_broken(o, "cannot end the IRQ in QEMU's local APIC");
		}
		return;
	}
	case RUN_EV_CALL_BEFORE:
		o->ncall++;
		point(o, "call %u (%s)", o->ncall, ev->u.call.rec->name);
		o->regs_addr = ev->u.call.regs_addr;
		oracle_run_to_stop(o, &st);
		if (st.kind != ST_CALLOUT || st.pc != ev->u.call.rec->addr) {
			char x[192];
			snprintf(x, sizeof(x), "a callout at %s", oracle_sym(o, ev->u.call.rec->addr, s, sizeof(s)));
			oracle_wrong_stop(o, x, &st);
			oracle_resync(o);
		} else if (oracle_compare_state(o, &st, 0, 0, 0, 0, 1)) {
			oracle_resync(o);
		}
		oracle_snapshot(o);
		return;
	case RUN_EV_CALL_AFTER:
		if (oracle_apply_callout(o, ev->u.call.ret))
			oracle_broken(o, "cannot give QEMU what the callout did");
		return;
	case RUN_EV_RETURN:
		o->nret++;
		point(o, "return %u to ring 3 (at %s)", o->nret, oracle_sym(o, ev->u.ret.eip, s, sizeof(s)));
		oracle_run_to_stop(o, &st);
		/* the run's EIP, within CS (the engine's is linear in its hook) */
		o->lib_eip = ev->u.ret.eip;
		o->lib_eip_set = 1;
		if (st.kind != ST_RETURN) {
			oracle_wrong_stop(o, "a return to ring 3", &st);
			oracle_resync(o);
		} else if (oracle_compare_state(o, &st, 0, 0, 0, 0, 0)) {
			oracle_resync(o);
		}
		o->lib_eip_set = 0;
		return;
	default:
		return;
	}
}

/* ---- start and end of a run ------------------------------------------------- */

static uint32_t gate_target(entryemu_oracle *o, unsigned v)
{
	uint32_t lo, hi;
	if (entryemu_idt_get(o->m, v, &lo, &hi) || !(hi & 0x8000))
		return 0;
	unsigned type = (hi >> 8) & 0x1f;
	if (type == 0x05) {		/* task gate: the TSS's EIP */
		uint32_t glo, ghi;
		if (entryemu_gdt_get(o->m, (lo >> 19) & 31, &glo, &ghi))
			return 0;
		uint32_t base = (glo >> 16) | ((ghi & 0xff) << 16) | (ghi & 0xff000000u);
		int ok = 1;
		return machine_rd32(o->m, base + 0x20, &ok);
	}
	return (lo & 0xffff) | (hi & 0xffff0000u);
}

static int prepare_qemu(entryemu_oracle *o)
{
	struct entryemu *m = o->m;
	const struct entryemu_setup *s = m->setup;
	/* breakpoints: every gate's target, sysenter, the exit sites, injection points */
	for (unsigned v = 0; v < 256; v++) {
		o->handler_vec[v] = gate_target(o, v);
		if (oracle_add_bp(o, o->handler_vec[v]))
			return -1;
	}
	uint64_t msr = 0;
	engine_msr(m->eng, 0x176, &msr);
	o->sysenter = (uint32_t)msr;
	if (oracle_add_bp(o, o->sysenter) || oracle_add_bp(o, ENTRYEMU_USER_EXIT))
		return -1;
	/* every callout slot with a name */
	for (size_t i = 0; i < m->ncallouts; i++)
		if (m->callouts[i].name &&
		    oracle_add_bp(o, m->img.callouts_start + 4 * (uint32_t)i))
			return -1;
	o->nexits = kernel_exit_sites(m, o->exits, 32);
	if (o->nexits > 32)
		o->nexits = 32;
	for (size_t i = 0; i < o->nexits; i++)
		if (oracle_add_bp(o, o->exits[i]))
			return -1;
	/* each page as this run's tables have it (code_readonly makes the code read-only) */
	for (unsigned i = 0; i < o->nreg; i++)
		for (uint32_t off = 0; off < o->reg[i].size; off += 0x1000) {
			uint32_t lin = o->reg[i].lin + off;
			if (layout_set_rights(o->q.mem, o->reg, o->nreg, lin, paging_rights(m, lin))) {
				snprintf(o->q.gw.err, sizeof(o->q.gw.err), "no page table in QEMU for "
					 "0x%08x", lin);
				return -1;
			}
		}
	o->ninj = 0;
	for (unsigned i = 0; i < s->ninjects; i++) {
		const struct entryemu_inject *in = &s->injects[i];
		if (!in->at) {
			oracle_uncompared(o, "injects[%u]: injected after %llu instructions; the oracle "
				   "injects at an address only", i, (unsigned long long)in->after);
			return 1;
		}
		o->inj[o->ninj++] = (typeof(o->inj[0])){ in->at, in->occurrence ? in->occurrence : 1,
							 0, in->kind, in->vector, 0 };
		if (oracle_add_bp(o, in->at))
			return -1;
	}
	/* the tables, back to CPL 0 in the stub: the boot block, memory, then reload */
	uint8_t bb[BB_SIZE] = { 0 };
	struct engine_table_reg t[4];
	if (engine_tables(m->eng, t))
		return -1;
	uint32_t v32 = PH_PD;
	memcpy(bb + BB_CR3, &v32, 4);
	v32 = machine_reg(m, ER_CR4);	/* OSFXSR decides #UD or #NM for SSE */
	memcpy(bb + BB_CR4, &v32, 4);
	uint16_t lim = (uint16_t)t[ET_GDTR].limit;
	memcpy(bb + BB_GDTR, &lim, 2);
	memcpy(bb + BB_GDTR + 2, &t[ET_GDTR].base, 4);
	o->gdt.base = (uint32_t)t[ET_GDTR].base;
	o->gdt.limit = t[ET_GDTR].limit;
	o->ldt.base = (uint32_t)t[ET_LDTR].base;
	o->ldt.limit = t[ET_LDTR].selector & ~3u ? t[ET_LDTR].limit : 0;
	lim = (uint16_t)t[ET_IDTR].limit;
	memcpy(bb + BB_IDTR, &lim, 2);
	memcpy(bb + BB_IDTR + 2, &t[ET_IDTR].base, 4);
	memcpy(bb + BB_LDTR, &t[ET_LDTR].selector, 2);
	memcpy(bb + BB_TR, &t[ET_TR].selector, 2);
	uint16_t kcs = ENTRYEMU_KERNEL_CS;
	memcpy(bb + BB_KCS + 4, &kcs, 2);
	v32 = ENTRYEMU_KERNEL_DS;
	memcpy(bb + BB_KDS, &v32, 4);
	for (unsigned i = 0; i < 3; i++) {
		msr = 0;
		engine_msr(m->eng, 0x174 + i, &msr);
		v32 = (uint32_t)msr;
		memcpy(bb + BB_MSR174 + 4 * i, &v32, 4);
	}
	char reply[256];
	int timeout;
	if (gw_write_mem(&o->q.gw, PH_BOOT_BLOCK, bb, sizeof(bb)) || oracle_push_memory(o) ||
	    oracle_set_reg(o, GW_EFLAGS, 0x2) || oracle_set_reg(o, GW_SS, ENTRYEMU_KERNEL_DS) ||
	    oracle_set_reg(o, GW_CS, ENTRYEMU_KERNEL_CS) ||
	    oracle_set_reg(o, GW_EIP, o->sym_reload) || gw_break(&o->q.gw, o->sym_ready, 1))
		return -1;
	timeout = gw_resume(&o->q.gw, "c", RESUME_MS, reply, sizeof(reply));
	if (gw_break(&o->q.gw, o->sym_ready, 0) || timeout) {
		if (timeout > 0)
			snprintf(o->q.gw.err, sizeof(o->q.gw.err), "the stub did not reach oracle_boot_ready");
		return -1;
	}
	uint32_t eip;
	if (gw_read_reg(&o->q.gw, GW_EIP, &eip) || eip != o->sym_ready) {
		snprintf(o->q.gw.err, sizeof(o->q.gw.err), "the stub stopped at 0x%08x, not at "
			 "oracle_boot_ready (a fault while loading the tables?)", eip);
		return -1;
	}
	return oracle_push_regs(o, 1);
}

static int start_qemu(entryemu_oracle *o, char *err, size_t len);

static void tap_start(void *ctx)
{
	entryemu_oracle *o = ctx;
	if (o->dead) {
		/* the last run left QEMU unusable: a fresh one for this run */
		char err[400];
		intlog_close(&o->log);
		qemu_stop(&o->q);
		o->nbps = 0;
		if (start_qemu(o, err, sizeof(err))) {
			o->broken = 1;
			snprintf(o->uncompared, sizeof(o->uncompared), "QEMU could not be restarted: %s", err);
			return;
		}
		o->dead = 0;
	}
	o->broken = 0;
	o->regs_valid = 0;
	o->pos_counted = 0;
	o->has_pending = 0;
	o->regs_addr = 0;
	o->nev = o->ncall = o->nret = o->compared = 0;
	o->ndiv = o->ndiv_total = 0;
	o->uncompared[0] = 0;
	point(o, "start");
	struct intlog_rec skip;
	intlog_last(&o->log, &skip);	/* what earlier runs logged */
	int rc = prepare_qemu(o);
	if (rc < 0)
		oracle_broken(o, "cannot prepare QEMU for the run");
	else if (rc > 0)
		o->broken = 1;
}

static void tap_end(void *ctx, const entryemu_result *r)
{
	entryemu_oracle *o = ctx;
	if (o->broken)
		return;
	struct qstop st;
	char s[160];
	enum entryemu_outcome out = entryemu_result_outcome(r);
	point(o, "the end (%s)", entryemu_outcome_name(out));
	if (out == ENTRYEMU_DONE) {
		oracle_run_to_stop(o, &st);
		if (st.kind != ST_EXIT) {
			oracle_wrong_stop(o, "the exit page", &st);
			return;
		}
		oracle_compare_state(o, &st, 0, 0, 0, 0, 1);
		return;
	}
	/*
	 * Killed, exited or an oops decided by a callout: QEMU waits at that
	 * callout, compared already.  Anything else ended the library's run
	 * where QEMU has no counterpart to stop at.
	 */
	if (out == ENTRYEMU_KILLED || out == ENTRYEMU_EXITED ||
	    (out == ENTRYEMU_OOPS && oracle_is_callout(o, entryemu_result_final(r)->eip)))
		return;
	oracle_uncompared(o, "the library's run ended %s at %s (%s): not compared from there",
		   entryemu_outcome_name(out), oracle_sym(o, entryemu_result_final(r)->eip, s, sizeof(s)),
		   entryemu_result_message(r));
}

/* ---- the stub --------------------------------------------------------------- */

static int stub_symbols(entryemu_oracle *o, const char *path, char *err, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, len, "%s: cannot open the oracle's boot stub", path);
		return -1;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sy;
			if (!gelf_getsym(d, (int)i, &sy))
				continue;
			const char *n = elf_strptr(e, sh.sh_link, sy.st_name);
			if (!n)
				continue;
			if (!strcmp(n, "oracle_boot_tables"))
				o->sym_tables = (uint32_t)sy.st_value;
			else if (!strcmp(n, "oracle_reload"))
				o->sym_reload = (uint32_t)sy.st_value;
			else if (!strcmp(n, "oracle_boot_ready"))
				o->sym_ready = (uint32_t)sy.st_value;
			else if (!strcmp(n, "oracle_service"))
				o->sym_service = (uint32_t)sy.st_value;
			else if (!strcmp(n, "oracle_service_done"))
				o->sym_service_done = (uint32_t)sy.st_value;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	if (!o->sym_tables || !o->sym_reload || !o->sym_ready || !o->sym_service ||
	    !o->sym_service_done) {
		snprintf(err, len, "%s: not the oracle's boot stub (no oracle_boot_* symbols)", path);
		return -1;
	}
	return 0;
}

/* Boot the stub to oracle_boot_tables and give it its page tables. */
static int boot(entryemu_oracle *o, char *err, size_t len)
{
	struct gdbwire *g = &o->q.gw;
	char reply[GW_MAX];
	/* target.xml read: the gdbstub then answers p/P; steps let interrupts in */
	if (gw_cmd(g, "qXfer:features:read:target.xml:0,ffb", reply, sizeof(reply)) ||
	    gw_ok(g, "Qqemu.sstep=1") || gw_ok(g, "Qqemu.PhyMemMode:1") ||
	    gw_break(g, o->sym_tables, 1) ||
	    gw_resume(g, "c", 10000, reply, sizeof(reply)) || gw_break(g, o->sym_tables, 0)) {
		snprintf(err, len, "booting the oracle's stub in QEMU: %s", g->err);
		return -1;
	}
	uint32_t eip = 0;
	if (gw_read_reg(g, GW_EIP, &eip) || eip != o->sym_tables) {
		snprintf(err, len, "the oracle's stub did not reach oracle_boot_tables (EIP 0x%08x)", eip);
		return -1;
	}
	if (layout_page_tables(o->q.mem, o->reg, o->nreg)) {
		snprintf(err, len, "the machine's regions need more page tables than the stub has");
		return -1;
	}
	/* paging is off and nothing ran there yet: plain stores will do */
	for (unsigned i = 0; i < o->nreg; i++)
		memcpy(o->q.mem + o->reg[i].phys, o->reg[i].host, o->reg[i].size);
	return 0;
}

/* QEMU started, booted to the stub, its interrupt log open. */
static int start_qemu(entryemu_oracle *o, char *err, size_t len)
{
	if (qemu_start(&o->q, o->qemu_path, o->stub_path, o->kvm, CMD_MS, err, len) ||
	    boot(o, err, len))
		return -1;
	if (intlog_open(&o->log, o->q.log)) {
		snprintf(err, len, "%s: QEMU wrote no interrupt log", o->q.log);
		return -1;
	}
	return 0;
}

/* ---- public ------------------------------------------------------------------- */

int entryemu_oracle_open(entryemu_oracle **out, entryemu *m, enum entryemu_oracle_accel accel,
			 char *err, size_t errlen)
{
	char dummy[8];
	if (!err)
		err = dummy, errlen = sizeof(dummy);
	if (!out || !m) {
		snprintf(err, errlen, "entryemu_oracle_open: no handle");
		return ENTRYEMU_E_INVAL;
	}
	*out = NULL;
	if (m->tap) {
		snprintf(err, errlen, "an oracle is open on this machine already");
		return ENTRYEMU_E_INVAL;
	}
	char qemu[4096], dir[4096], stub[4200], probe[4200];
	if (!qemu_find(qemu, sizeof(qemu))) {
		snprintf(err, errlen, "qemu-system-i386 is not on PATH (tools/setup.sh installs "
			 "qemu-system-x86; ENTRYEMU_QEMU names another)");
		return ENTRYEMU_E_IO;
	}
	if (!entryemu_image_dir(dir, sizeof(dir))) {
		snprintf(err, errlen, "cannot find the image directory");
		return ENTRYEMU_E_IO;
	}
	snprintf(stub, sizeof(stub), "%s/oracle-boot.elf", dir);
	snprintf(probe, sizeof(probe), "%s/qemu-boot.elf", dir);
	entryemu_oracle *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return ENTRYEMU_E_NOMEM;
	}
	o->m = m;
	const char *dbg = getenv("ENTRYEMU_ORACLE_DEBUG");
	o->debug = dbg && *dbg;
	o->debug_step = o->debug && !strcmp(dbg, "step");
	o->q.pid = -1;
	o->q.gw.fd = -1;
	if (stub_symbols(o, stub, err, errlen))
		goto fail;
	o->nreg = layout_regions(m, o->reg, MACHINE_REGIONS);
	for (unsigned i = 0; i < o->nreg; i++)
		o->reg[i].rights = paging_rights(m, o->reg[i].lin);
	if (!o->nreg) {
		snprintf(err, errlen, "the machine's regions do not fit QEMU's %u MiB",
			 QEMU_RAM_SIZE >> 20);
		goto fail;
	}
	for (unsigned i = 0; i < o->nreg; i++)
		o->snap_size += o->reg[i].size;
	o->snap = malloc(o->snap_size);
	if (!o->snap) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	int kvm = 0;
	if (accel == ENTRYEMU_ORACLE_TCG)
		snprintf(o->why_not_kvm, sizeof(o->why_not_kvm), "TCG asked for");
	else
		kvm = qemu_kvm_usable(qemu, probe, o->why_not_kvm, sizeof(o->why_not_kvm));
	if (accel == ENTRYEMU_ORACLE_KVM && !kvm) {
		snprintf(err, errlen, "KVM asked for, but %s", o->why_not_kvm);
		goto fail;
	}
	snprintf(o->qemu_path, sizeof(o->qemu_path), "%s", qemu);
	snprintf(o->stub_path, sizeof(o->stub_path), "%s", stub);
	o->kvm = kvm;
	if (start_qemu(o, err, errlen))
		goto fail;
	o->tap = (struct run_tap){ tap_start, observe, tap_end, o };
	m->tap = &o->tap;
	*out = o;
	return 0;
fail:
	intlog_close(&o->log);
	qemu_stop(&o->q);
	free(o->snap);
	free(o);
	return ENTRYEMU_E_IO;
}

const char *entryemu_oracle_qemu_path(char *buf, size_t len)
{
	return buf && len ? qemu_find(buf, len) : NULL;
}

void entryemu_oracle_close(entryemu_oracle *o)
{
	if (!o)
		return;
	if (o->m->tap == &o->tap)
		o->m->tap = NULL;
	intlog_close(&o->log);
	qemu_stop(&o->q);
	free(o->snap);
	free(o);
}

const char *entryemu_oracle_accel_name(const entryemu_oracle *o, const char **why)
{
	if (why)
		*why = o && !o->q.kvm ? o->why_not_kvm : "";
	return o && o->q.kvm ? "kvm" : "tcg";
}

unsigned entryemu_oracle_compared(const entryemu_oracle *o)
{
	return o ? o->compared : 0;
}

size_t entryemu_oracle_ndivergences(const entryemu_oracle *o)
{
	return o ? o->ndiv : 0;
}

const struct entryemu_divergence *entryemu_oracle_divergence(const entryemu_oracle *o, size_t i)
{
	if (!o || i >= o->ndiv)
		return NULL;
	entryemu_oracle *w = (entryemu_oracle *)o;
	w->pub[i] = (struct entryemu_divergence){ o->div[i].where, o->div[i].what, o->div[i].lib,
						  o->div[i].qemu };
	return &w->pub[i];
}

size_t entryemu_oracle_dropped(const entryemu_oracle *o)
{
	return o ? o->ndiv_total - o->ndiv : 0;
}

const char *entryemu_oracle_uncompared(const entryemu_oracle *o)
{
	return o ? o->uncompared : "";
}
