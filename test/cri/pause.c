/*
 * The sandbox ("pause") container of the containerd suite: it holds the
 * pod's namespaces and does nothing until SIGTERM or SIGINT, reaping any
 * child it inherits as PID 1. Built static (the image has nothing else).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	/* PID 1 gets no signal it has no handler for. */
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	signal(SIGCHLD, on_child);
	for (;;)
		pause();
}
