/* Descriptor encoding and decoding (SDM vol. 3 3.4.5, 6.11): pure. */
#include "cpu/desc.h"

void desc_make_seg(uint32_t *lo, uint32_t *hi, uint32_t base, uint32_t limit,
		   unsigned type, unsigned s, unsigned dpl, unsigned db)
{
	unsigned g = 0;
	if (limit > 0xfffff) {
		g = 1;
		limit >>= 12;
	}
	*lo = ((base & 0xffff) << 16) | (limit & 0xffff);
	*hi = (base & 0xff000000) | ((base >> 16) & 0xff) | (limit & 0xf0000) |
	      (g << 23) | (db << 22) | (1u << 15) | (dpl << 13) | (s << 12) |
	      (type << 8);
}

void desc_make_gate(uint32_t *lo, uint32_t *hi, uint16_t sel, uint32_t offset,
		    unsigned type, unsigned dpl)
{
	*lo = ((uint32_t)sel << 16) | (offset & 0xffff);
	*hi = (offset & 0xffff0000) | (1u << 15) | (dpl << 13) | (type << 8);
}

void desc_decode(uint32_t lo, uint32_t hi, struct desc *d)
{
	d->lo = lo;
	d->hi = hi;
	d->base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
	d->limit = (lo & 0xffff) | (hi & 0xf0000);
	d->g = (hi >> 23) & 1;
	if (d->g)
		d->limit = (d->limit << 12) | 0xfff;
	d->db = (hi >> 22) & 1;
	d->p = (hi >> 15) & 1;
	d->dpl = (hi >> 13) & 3;
	d->s = (hi >> 12) & 1;
	d->type = (hi >> 8) & 0xf;
}

