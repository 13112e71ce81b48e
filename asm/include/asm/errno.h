/* asm/errno.h stand-in: the error numbers the entry path returns. */
#ifndef _ENTRYEMU_ASM_ERRNO_H
#define _ENTRYEMU_ASM_ERRNO_H
#define ESRCH		3
#define EFAULT		14
#define EINVAL		22
#define ENOSYS		38
#endif
