/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/* The echo service's protocol, shared by echo_server and echo_client. */
#ifndef ECHO_H
#define ECHO_H

#define ECHO_DEFAULT_NAME	"fastipc.example.echo"
#define ECHO_MAX_LEN		4096
/* A call: the reply is the request. */
#define ECHO_OP_ECHO		1
/* A one-way message: the server stops. */
#define ECHO_OP_QUIT		2

#endif /* ECHO_H */
