/*
 * entry_arch.h stand-in.  On SMP or local-APIC kernels this builds the
 * IPI and APIC interrupt stubs with BUILD_INTERRUPT; the uniprocessor
 * PIC machine entryemu models has none.
 */
