/* Calibrated patches of Unicorn state that its API does not reach. */
#include "engine/quirks.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* Throwaway engine used for calibration: code page and GDT page. */
#define CAL_CODE	0x1000u
#define CAL_GDT		0x2000u
#define CAL_BAD_SEL	0x28u		/* past the 3-entry GDT: #GP(0x28) */
#define CAL_BAD_SEL2	0x30u		/* likewise: #GP(0x30) */
#define VEC_GP		13u

/*
 *   mov $CAL_BAD_SEL, %ax
 *   mov %ax, %ds		#GP(0x28): calibrate, patch, skip
 *   mov $CAL_BAD_SEL2, %bx
 *   mov %bx, %ds		#GP(0x30): 13 with the patch, 8 without
 *   hlt
 *
 * The two faults push different error codes from different registers,
 * so the one word that holds 0x28 at the first and 0x30 at the second is
 * the error code the CPU pushes (QEMU's env->error_code), and not a
 * register that happens to hold the selector.
 */
static const uint8_t cal_code[] = {
	0x66, 0xb8, CAL_BAD_SEL, 0x00,
	0x8e, 0xd8,
	0x66, 0xbb, CAL_BAD_SEL2, 0x00,
	0x8e, 0xdb,
	0xf4,
};
#define CAL_FIRST_FAULT	(CAL_CODE + 4u)
#define CAL_INSN_LEN	2u

/* null, flat ring-0 code, flat ring-0 data */
static const uint64_t cal_gdt[] = {
	0,
	0x00cf9a000000ffffull,
	0x00cf92000000ffffull,
};

struct calib {
	struct engine_quirks *q;
	uc_context *a;			/* before any fault: old_exception = -1 */
	uc_context *b;			/* in the hook of the first #GP: 13 */
	uc_context *c;			/* in the hook of the second #GP */
	size_t size;
	unsigned nfaults;
	uint32_t second_vec;
	long off;
};

static uint32_t ctx_word(const uc_context *ctx, size_t off)
{
	uint32_t v;

	memcpy(&v, (const unsigned char *)ctx + off, sizeof(v));
	return v;
}

/* The unique aligned word that holds x in a and y in b, or -1. */
static long find_pair(const uc_context *a, uint32_t x, const uc_context *b, uint32_t y,
		      size_t size)
{
	long found = -1;

	for (size_t off = 0; off + sizeof(uint32_t) <= size; off += sizeof(uint32_t)) {
		if (ctx_word(a, off) == x && ctx_word(b, off) == y) {
			if (found >= 0)
				return -1;
			found = (long)off;
		}
	}
	return found;
}

/* The unique aligned word that went from -1 to 13, or -1. */
static long find_offset(const uc_context *a, const uc_context *b, size_t size)
{
	long found = -1;
	size_t off;

	for (off = 0; off + sizeof(uint32_t) <= size; off += sizeof(uint32_t)) {
		if (ctx_word(a, off) == UINT32_MAX && ctx_word(b, off) == VEC_GP) {
			if (found >= 0)
				return -1;
			found = (long)off;
		}
	}
	return found;
}

static void calib_intr(uc_engine *uc, uint32_t intno, void *user)
{
	struct calib *c = user;
	uint32_t eip;

	c->nfaults++;
	if (c->nfaults == 1 && intno == VEC_GP &&
	    uc_reg_read(uc, UC_X86_REG_EIP, &eip) == UC_ERR_OK &&
	    eip == CAL_FIRST_FAULT &&
	    uc_context_save(uc, c->b) == UC_ERR_OK) {
		c->off = find_offset(c->a, c->b, c->size);
		if (c->off >= 0) {
			eip += CAL_INSN_LEN;
			if (uc_reg_write(uc, UC_X86_REG_EIP, &eip) == UC_ERR_OK) {
				c->q->old_exception_off = c->off;
				engine_quirks_exception_delivered(c->q, uc);
				return;
			}
		}
	} else if (c->nfaults == 2) {
		c->second_vec = intno;
		if (uc_context_save(uc, c->c) == UC_ERR_OK)
			c->q->error_code_off = find_pair(c->b, CAL_BAD_SEL, c->c,
							 CAL_BAD_SEL2, c->size);
	}
	uc_emu_stop(uc);
}

static int calibrate(uc_engine *uc, struct engine_quirks *q)
{
	struct calib c = { .q = q, .off = -1, .second_vec = UINT32_MAX };
	uc_x86_mmr gdtr = { .base = CAL_GDT, .limit = sizeof(cal_gdt) - 1 };
	uc_hook h;
	int ok = 0;

	if (uc_mem_map(uc, CAL_CODE, 0x1000, UC_PROT_ALL) ||
	    uc_mem_map(uc, CAL_GDT, 0x1000, UC_PROT_READ | UC_PROT_WRITE) ||
	    uc_mem_write(uc, CAL_CODE, cal_code, sizeof(cal_code)) ||
	    uc_mem_write(uc, CAL_GDT, cal_gdt, sizeof(cal_gdt)) ||
	    uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr))
		return -1;

	c.size = uc_context_size(uc);
	if (uc_context_alloc(uc, &c.a) != UC_ERR_OK)
		return -1;
	if (uc_context_alloc(uc, &c.b) != UC_ERR_OK) {
		uc_context_free(c.a);
		return -1;
	}
	if (uc_context_alloc(uc, &c.c) != UC_ERR_OK) {
		uc_context_free(c.b);
		uc_context_free(c.a);
		return -1;
	}
	if (uc_context_save(uc, c.a) == UC_ERR_OK &&
	    uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)calib_intr, &c, 1, 0) == UC_ERR_OK) {
		uc_emu_start(uc, CAL_CODE, 0, 0, 0);
		/* found, patched, and the second #GP was not promoted to #DF */
		ok = c.off >= 0 && c.nfaults == 2 && c.second_vec == VEC_GP;
		uc_hook_del(uc, h);
	}
	uc_context_free(c.c);
	uc_context_free(c.b);
	uc_context_free(c.a);
	return ok ? 0 : -1;
}

/*
 * Where the field sits is a fact of the Unicorn build the process runs
 * on, the same for every engine: it is found once per process and only
 * read afterwards.  It is found in the first engine opened, fresh from
 * uc_open and before the library sets anything up in it: a throwaway
 * engine of its own cost about a millisecond, a fifth of a cold replay.
 * The engine is given back as it came: its CPU state restored, the two
 * calibration pages unmapped and their translations dropped.
 */
static pthread_mutex_t offset_lock = PTHREAD_MUTEX_INITIALIZER;
static int offset_tried;
static long offset_found = -1;
static long error_code_found = -1;

static void find_offset_in(uc_engine *uc)
{
	struct engine_quirks t = { .old_exception_off = -1, .error_code_off = -1,
				   .scratch = NULL };
	uc_context *fresh = NULL;
	if (uc_context_alloc(uc, &fresh) != UC_ERR_OK || uc_context_save(uc, fresh) != UC_ERR_OK ||
	    uc_context_alloc(uc, &t.scratch) != UC_ERR_OK)
		goto out;
	if (calibrate(uc, &t) == 0) {
		offset_found = t.old_exception_off;
		error_code_found = t.error_code_off;
	}
	uc_context_restore(uc, fresh);
	uc_ctl_remove_cache(uc, CAL_CODE, CAL_CODE + 0x1000);
out:
	uc_mem_unmap(uc, CAL_CODE, 0x1000);
	uc_mem_unmap(uc, CAL_GDT, 0x1000);
	if (t.scratch)
		uc_context_free(t.scratch);
	if (fresh)
		uc_context_free(fresh);
}

int engine_quirks_init(struct engine_quirks *q, uc_engine *uc)
{
	pthread_mutex_lock(&offset_lock);
	if (!offset_tried) {
		offset_tried = 1;
		find_offset_in(uc);
	}
	pthread_mutex_unlock(&offset_lock);
	q->old_exception_off = -1;
	q->error_code_off = -1;
	q->scratch = NULL;
	if (offset_found < 0 || uc_context_alloc(uc, &q->scratch) != UC_ERR_OK) {
		q->scratch = NULL;
		return -1;
	}
	q->old_exception_off = offset_found;
	q->error_code_off = error_code_found;
	return 0;
}

void engine_quirks_free(struct engine_quirks *q)
{
	if (q->scratch)
		uc_context_free(q->scratch);
	q->scratch = NULL;
	q->old_exception_off = -1;
	q->error_code_off = -1;
}

int engine_quirks_error_code(struct engine_quirks *q, uc_engine *uc, uint32_t *out)
{
	if (q->error_code_off < 0 || !q->scratch ||
	    uc_context_save(uc, q->scratch) != UC_ERR_OK)
		return -1;
	memcpy(out, (unsigned char *)q->scratch + q->error_code_off, sizeof(*out));
	return 0;
}

void engine_quirks_exception_delivered(struct engine_quirks *q, uc_engine *uc)
{
	const uint32_t none = UINT32_MAX;	/* old_exception = -1 */
	unsigned char *field;

	if (q->old_exception_off < 0 || !q->scratch)
		return;
	if (uc_context_save(uc, q->scratch) != UC_ERR_OK)
		return;
	field = (unsigned char *)q->scratch + q->old_exception_off;
	if (memcmp(field, &none, sizeof(none)) == 0)
		return;
	memcpy(field, &none, sizeof(none));
	uc_context_restore(uc, q->scratch);
}
