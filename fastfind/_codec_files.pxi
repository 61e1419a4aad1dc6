# Included by _codec.pyx. Twin: _codec_files_py.py (same names, same system calls, same results).
#
# write_files: create many small files in one directory, each complete before it gets its name,
# with the GIL released for the whole batch (so the network loop runs on while they are made).

from posix.fcntl cimport O_CREAT, O_EXCL, O_WRONLY
from posix.stat cimport struct_stat, fstat
from posix.unistd cimport close as c_close, fsync as c_fsync, getpid
from libc.errno cimport EEXIST, EINTR, EINVAL, EISDIR, ENOENT, EOPNOTSUPP, EPERM, EXDEV, errno
from libc.stdio cimport snprintf

cdef extern from *:
    """
    #include <fcntl.h>
    #include <stdio.h>
    #include <sys/stat.h>
    #include <sys/uio.h>
    #include <unistd.h>
    #ifndef O_TMPFILE
    #define O_TMPFILE 0
    #endif
    #ifndef O_NOFOLLOW
    #define O_NOFOLLOW 0
    #endif
    #ifndef O_CLOEXEC
    #define O_CLOEXEC 0
    #endif
    #ifndef AT_SYMLINK_FOLLOW
    #define AT_SYMLINK_FOLLOW 0
    #endif
    #ifndef AT_SYMLINK_NOFOLLOW
    #define AT_SYMLINK_NOFOLLOW 0
    #endif
    #define FF_AT_FDCWD AT_FDCWD
    """
    int O_TMPFILE
    int O_NOFOLLOW
    int O_CLOEXEC
    int AT_SYMLINK_FOLLOW
    int AT_SYMLINK_NOFOLLOW
    int FF_AT_FDCWD
    int openat(int dirfd, const char* path, int flags, ...) nogil
    int linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags) nogil
    int renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath) nogil
    int unlinkat(int dirfd, const char* path, int flags) nogil
    int fstatat(int dirfd, const char* path, struct_stat* buf, int flags) nogil
    cdef struct iovec:
        void* iov_base
        size_t iov_len
    ssize_t c_writev "writev"(int fd, const iovec* iov, int iovcnt) nogil
    ssize_t c_write "write"(int fd, const void* buf, size_t count) nogil

WRITE_CREATED = 0
WRITE_REPLACED = 1

cdef int C_WRITE_CREATED = 0
cdef int C_WRITE_REPLACED = 1
cdef int C_NOT_SUPPORTED = -100000  # internal: fall back to a named temporary file
cdef set _no_tmpfile = set()  # devices where O_TMPFILE or /proc turned out unusable
cdef unsigned long _seq = 0

MAX_CHUNKS = 64  # more chunks than this are joined first (writev takes at most IOV_MAX)


cdef bytes _check_name(name):
    cdef bytes name_b = bytes(name)
    if len(name_b) == 0 or len(name_b) > 4000 or b"/" in name_b or b"\0" in name_b:
        raise ValueError(f"invalid file name {name_b!r}")
    return name_b


cdef struct FileJob:
    const char* name
    iovec* iov
    int iovcnt
    Py_ssize_t total
    int result


cdef inline bint _unsupported(int err) noexcept nogil:
    return (err == EOPNOTSUPP or err == EISDIR or err == EINVAL or err == ENOENT or err == EXDEV
            or err == EPERM)  # as _NO_TMPFILE in the twin


cdef int _write_all(int fd, FileJob* job, bint sync) noexcept nogil:
    """Write every chunk (short writes finished); 0 or -errno."""
    cdef ssize_t done
    cdef Py_ssize_t left, skip
    cdef int i
    if job.iovcnt:
        done = c_writev(fd, job.iov, job.iovcnt)
        while done < 0 and errno == EINTR:
            done = c_writev(fd, job.iov, job.iovcnt)
        if done < 0:
            return -errno
        if done < job.total:  # finish chunk by chunk
            skip = done
            for i in range(job.iovcnt):
                if skip >= <Py_ssize_t>job.iov[i].iov_len:
                    skip -= job.iov[i].iov_len
                    continue
                left = job.iov[i].iov_len - skip
                while left > 0:
                    done = c_write(fd, <const char*>job.iov[i].iov_base + job.iov[i].iov_len - left,
                                   <size_t>left)
                    if done < 0:
                        if errno == EINTR:
                            continue
                        return -errno
                    left -= done
                skip = 0
    if sync and c_fsync(fd) != 0:
        return -errno
    return 0


cdef void _temp_name(char* out, size_t size, const char* name, long pid) noexcept nogil:
    global _seq
    _seq += 1
    snprintf(out, size, ".%s.%ld.%lu.part", name, pid, _seq)


cdef int _write_unnamed(int dirfd, FileJob* job, bint sync, bint no_clobber, long pid) noexcept nogil:
    """O_TMPFILE + linkat; C_NOT_SUPPORTED if this file system cannot do it."""
    cdef char source[64]
    cdef char tmp[4200]
    cdef int fd, rc, err
    fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0o666)
    if fd < 0:
        err = errno
        return C_NOT_SUPPORTED if _unsupported(err) else -err
    rc = _write_all(fd, job, sync)
    if rc < 0:
        c_close(fd)
        return rc
    snprintf(source, sizeof(source), "/proc/self/fd/%d", fd)
    if linkat(FF_AT_FDCWD, source, dirfd, job.name, AT_SYMLINK_FOLLOW) == 0:
        c_close(fd)
        return C_WRITE_CREATED
    err = errno
    if err != EEXIST or no_clobber:
        c_close(fd)
        return C_NOT_SUPPORTED if err != EEXIST and _unsupported(err) else -err
    _temp_name(tmp, sizeof(tmp), job.name, pid)
    if linkat(FF_AT_FDCWD, source, dirfd, tmp, AT_SYMLINK_FOLLOW) != 0:
        err = errno
        c_close(fd)
        return -err
    c_close(fd)
    if renameat(dirfd, tmp, dirfd, job.name) != 0:
        err = errno
        unlinkat(dirfd, tmp, 0)
        return -err
    return C_WRITE_REPLACED


cdef int _write_renamed(int dirfd, FileJob* job, bint sync, bint no_clobber, long pid) noexcept nogil:
    """A hidden temporary name (O_EXCL|O_NOFOLLOW), then rename (or link for no-clobber)."""
    cdef char tmp[4200]
    cdef int fd, rc, err
    cdef bint existed
    cdef struct_stat st
    while True:
        _temp_name(tmp, sizeof(tmp), job.name, pid)
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
        if fd >= 0:
            break
        if errno != EEXIST:
            return -errno
    rc = _write_all(fd, job, sync)
    if c_close(fd) != 0 and rc == 0:
        rc = -errno
    if rc < 0:
        unlinkat(dirfd, tmp, 0)
        return rc
    if no_clobber:
        if linkat(dirfd, tmp, dirfd, job.name, 0) != 0:
            err = errno
            unlinkat(dirfd, tmp, 0)
            return -err
        unlinkat(dirfd, tmp, 0)
        return C_WRITE_CREATED
    existed = fstatat(dirfd, job.name, &st, AT_SYMLINK_NOFOLLOW) == 0
    if renameat(dirfd, tmp, dirfd, job.name) != 0:
        err = errno
        unlinkat(dirfd, tmp, 0)
        return -err
    return C_WRITE_REPLACED if existed else C_WRITE_CREATED


def write_files(int dirfd, items, bint sync=False, bint no_clobber=False):
    """Create each ``(name, chunks)`` file in directory ``dirfd`` (see the Python twin); one
    result per item: :data:`WRITE_CREATED`, :data:`WRITE_REPLACED`, or ``-errno``."""
    cdef Py_ssize_t n = len(items), i, j, nchunks, total_iov = 0
    cdef FileJob* jobs = NULL
    cdef iovec* iovs = NULL
    cdef iovec* cur
    cdef struct_stat st
    cdef bint tmpfile
    cdef long pid = getpid()
    cdef int rc
    cdef list keep = []  # the bytes objects the iovecs point into stay alive here
    cdef list results
    if fstat(dirfd, &st) != 0:
        return [-errno] * n
    tmpfile = O_TMPFILE != 0 and st.st_dev not in _no_tmpfile
    items = [(name, chunks if len(chunks) <= MAX_CHUNKS else (b"".join(chunks),))
             for name, chunks in items]
    for name, chunks in items:
        total_iov += len(chunks)
    jobs = <FileJob*>PyMem_Malloc(<size_t>(n if n else 1) * sizeof(FileJob))
    iovs = <iovec*>PyMem_Malloc(<size_t>(total_iov if total_iov else 1) * sizeof(iovec))
    if jobs == NULL or iovs == NULL:
        PyMem_Free(jobs)
        PyMem_Free(iovs)
        raise MemoryError()
    try:
        cur = iovs
        i = 0
        for name, chunks in items:
            name_b = _check_name(name)
            keep.append(name_b)
            jobs[i].name = PyBytes_AS_STRING(name_b)
            jobs[i].iov = cur
            jobs[i].total = 0
            nchunks = 0
            for chunk in chunks:
                chunk_b = chunk if type(chunk) is bytes else bytes(chunk)
                keep.append(chunk_b)
                cur.iov_base = <void*>PyBytes_AS_STRING(chunk_b)
                cur.iov_len = <size_t>len(chunk_b)
                jobs[i].total += len(chunk_b)
                cur += 1
                nchunks += 1
            jobs[i].iovcnt = <int>nchunks
            i += 1
        with nogil:
            for i in range(n):
                rc = C_NOT_SUPPORTED
                if tmpfile:
                    rc = _write_unnamed(dirfd, &jobs[i], sync, no_clobber, pid)
                    if rc == C_NOT_SUPPORTED:
                        tmpfile = False
                if rc == C_NOT_SUPPORTED:
                    rc = _write_renamed(dirfd, &jobs[i], sync, no_clobber, pid)
                jobs[i].result = rc
        if O_TMPFILE != 0 and not tmpfile:
            _no_tmpfile.add(st.st_dev)
        results = [jobs[j].result for j in range(n)]
        return results
    finally:
        PyMem_Free(jobs)
        PyMem_Free(iovs)
