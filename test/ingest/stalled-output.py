# Runs argv[1:] with stdout and stderr into a 4096-byte pipe nobody reads (a stalled journald). Prints
# the child's pid, then "full" once the pipe holds 4000 bytes or more, then "exit <code>" when it ends.
import fcntl, os, subprocess, sys, termios, array, time
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ
p = subprocess.Popen(sys.argv[1:], stdout=w, stderr=w, stdin=subprocess.DEVNULL)
os.close(w)
print(p.pid, flush=True)
held = array.array("i", [0])
while p.poll() is None:
    fcntl.ioctl(r, termios.FIONREAD, held)
    if held[0] >= 4000:
        print("full", flush=True)
        break
    time.sleep(0.05)
print("exit", p.wait(), flush=True)
