#!/bin/sh
echo "installing demo"
