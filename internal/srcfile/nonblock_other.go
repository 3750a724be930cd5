//go:build !unix

package srcfile

// oNonblock is 0 where open has no O_NONBLOCK; Read's Stat still refuses a FIFO before it opens.
const oNonblock = 0
