/*
 * pt_regs in emulated memory <-> host form, through the offsets the
 * image exports (its asm-offsets), so the same code reads the frame of
 * the post-patch kernel (with xgs) and the pre-patch one (without).
 */
#include "kernel/kernel.h"

#include <string.h>

static uint32_t rd(const uint8_t *p, int off)
{
	uint32_t v;
	memcpy(&v, p + off, 4);
	return v;
}

static void wr(uint8_t *p, int off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

void ptregs_read(struct entryemu *m, uint32_t addr, struct entryemu_pt_regs *o)
{
	const struct image_layout *l = &m->img.layout;
	const uint8_t *p = machine_ptr(m, addr, (size_t)l->pt_size);
	memset(o, 0, sizeof(*o));
	if (!p) {
		/* the frame of a kernel-mode event lacks esp/xss and may end
		 * at the top of the stack: read what is there */
		p = machine_ptr(m, addr, (size_t)l->pt_oldesp);
		if (!p)
			return;
	} else {
		o->esp = rd(p, l->pt_oldesp);
		o->xss = rd(p, l->pt_oldss);
	}
	o->ebx = rd(p, l->pt_ebx);
	o->ecx = rd(p, l->pt_ecx);
	o->edx = rd(p, l->pt_edx);
	o->esi = rd(p, l->pt_esi);
	o->edi = rd(p, l->pt_edi);
	o->ebp = rd(p, l->pt_ebp);
	o->eax = rd(p, l->pt_eax);
	o->xds = rd(p, l->pt_ds);
	o->xes = rd(p, l->pt_es);
	o->has_xgs = l->pt_gs >= 0;
	o->xgs = o->has_xgs ? rd(p, l->pt_gs) : 0;
	o->has_xfs = l->pt_fs >= 0;
	o->xfs = o->has_xfs ? rd(p, l->pt_fs) : 0;
	o->orig_eax = rd(p, l->pt_orig_eax);
	o->eip = rd(p, l->pt_eip);
	o->xcs = rd(p, l->pt_cs);
	o->eflags = rd(p, l->pt_eflags);
}

void ptregs_write(struct entryemu *m, uint32_t addr, const struct entryemu_pt_regs *in)
{
	const struct image_layout *l = &m->img.layout;
	uint8_t *p = machine_wptr(m, addr, (size_t)l->pt_oldesp);
	if (!p)
		return;
	wr(p, l->pt_ebx, in->ebx);
	wr(p, l->pt_ecx, in->ecx);
	wr(p, l->pt_edx, in->edx);
	wr(p, l->pt_esi, in->esi);
	wr(p, l->pt_edi, in->edi);
	wr(p, l->pt_ebp, in->ebp);
	wr(p, l->pt_eax, in->eax);
	wr(p, l->pt_ds, in->xds);
	wr(p, l->pt_es, in->xes);
	if (l->pt_gs >= 0)
		wr(p, l->pt_gs, in->xgs);
	if (l->pt_fs >= 0)
		wr(p, l->pt_fs, in->xfs);
	wr(p, l->pt_orig_eax, in->orig_eax);
	wr(p, l->pt_eip, in->eip);
	wr(p, l->pt_cs, in->xcs);
	wr(p, l->pt_eflags, in->eflags);
	if (machine_wptr(m, addr, (size_t)l->pt_size)) {
		wr(p, l->pt_oldesp, in->esp);
		wr(p, l->pt_oldss, in->xss);
	}
}
